"""Machinery of notebooks 01-03; not needed to follow the series.

Interactive controls for the notebooks that still run headless and under nbval.
"""

from __future__ import annotations

from collections.abc import Callable


def explore(f: Callable, **controls) -> None:
    """Show sliders (or other controls) that re-run ``f`` whenever one changes.

    Like :func:`ipywidgets.interact` (``controls`` as its abbreviations), except that
    ``f`` is not run when the controls are created: call it once in the cell before,
    so that nbval checks the initial state. Where controls cannot be shown, the
    output is one line naming them instead of the widget's repr. Returns nothing.
    """
    import ipywidgets
    from IPython.display import display

    widget = ipywidgets.interactive(f, {"manual": True}, **controls)
    widget.children = tuple(c for c in widget.children if c is not widget.manual_button)
    for control in widget.kwargs_widgets:
        control.continuous_update = False
        control.observe(widget.update, names="value")
    bundle = widget._repr_mimebundle_()
    bundle["text/plain"] = fallback_text(list(controls))
    display(bundle, raw=True)


def fallback_text(names: list[str]) -> str:
    """What a view without widgets shows in place of the controls.

    >>> fallback_text(["k", "r"])
    '[Controls k, r: run this notebook in JupyterLab to use them; the cell above shows their first setting.]'
    """
    return (
        f"[Controls {', '.join(names)}: run this notebook in JupyterLab to use them;"
        " the cell above shows their first setting.]"
    )
