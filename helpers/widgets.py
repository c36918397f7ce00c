"""Interactive controls for the notebooks that still run headless and under nbval."""

from __future__ import annotations

from collections.abc import Callable


def explore(f: Callable, **controls) -> None:
    """Show sliders (or other controls) that re-run ``f`` whenever one changes.

    Like :func:`ipywidgets.interact`, with one difference: ``f`` is NOT run
    when the controls are created. Call ``f`` once yourself, in the cell
    before, for the initial state: its figure and printed numbers are then
    stored in the notebook and checked by nbval, while the controls are only
    active in a live Jupyter session. (``interact`` runs ``f`` at once into a
    widget output that a headless run records differently from nbval.)

    Where the controls cannot be shown (a notebook that is not trusted yet, a
    static page, a text view), the output reads as one line that names them,
    e.g. ``[Controls k, r: run this notebook in JupyterLab to use them; the
    cell above shows their first setting.]``, instead of the widget's repr.

    Parameters
    ----------
    f : callable
        Called with the controls' values as keyword arguments.
    **controls
        ipywidgets abbreviations, as for ``interact``: ``(min, max, step)``
        tuples give sliders, lists give drop-downs.

    Returns nothing (the widget is displayed), so that no repr is printed.
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
