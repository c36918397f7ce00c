"""The lecture's code, transcribed to Python 3 and NumPy as faithfully as possible, for ``run.py``.

What changed, and only this:

* ``from pylab import *`` became explicit NumPy imports; ``print`` statements are gone.
* The lecture's functions read globals: ``km`` (the codebook), ``pshape`` (the
  patch shape) and, in ``patchcode``, ``i`` and ``data`` left over from the
  extraction loop. Here ``km`` and ``pshape`` are parameters, and ``patchcode``'s
  line ``if i>=len(data): break`` is dropped: with the globals the lecture
  leaves behind (``i == len(data) == 70000`` after filling ``data``) it stops
  before the first block and returns an all-zero image.
* ``crop_black`` is not shown in the lecture; :func:`helpers.crop_black` stands in
  (it returns a view: microseconds).

Kept on purpose, because they are what is being measured: the generator with
two Python loops, its grid ``range(0, h - r, step)`` that misses the last row
and column of positions, the ``amax(image) > 2.0`` scaling heuristic, one
``km.predict`` per block in ``patchcode``, and the ``Counter`` in ``patchhist``.
"""

from collections import Counter

from numpy import amax, array, mean, zeros

from helpers import crop_black

r = 8


def pnorm(p):
    p = mean(p, axis=2)
    # p -= mean(p)
    # p = clip(p/clip(var(p),0.1,10),-2,2)
    # p /= max(1.0,amax(abs(p)))
    return p


def patches(image, r=r):
    image = crop_black(image)
    h, w, d = image.shape
    if amax(image) > 2.0:
        image = image / 255.0
    assert d == 3
    for y in range(0, h - r, r // 2):
        for x in range(0, w - r, r // 2):
            patch = pnorm(image[y : y + r, x : x + r].copy())
            yield patch


def extract(images, n, pshape, r=r):
    """The lecture's "extract patches across the whole image" loop, filling ``n`` patches (no shuffle)."""
    data = zeros([n] + pshape, "f")
    i = 0
    for image in images:
        for patch in patches(image, r):
            if i >= len(data):
                break
            data[i] = patch
            i += 1
    return data


def patchcode(image, km, pshape, r=r):
    image = crop_black(image)
    if amax(image) > 2.0:
        image = image / 255.0
    h, w, d = image.shape
    if len(pshape) == 2:
        result = zeros(image.shape[:2])
    else:
        result = zeros(list(image.shape[:2]) + [3])
    for y in range(0, h - r, r):
        for x in range(0, w - r, r):
            patch = image[y : y + r, x : x + r]
            patch = pnorm(patch)
            code = km.predict(patch.reshape(1, -1))[0]
            result[y : y + r, x : x + r] = km.cluster_centers_[code].reshape(*pshape)
    return result


def patchhist(image, km):
    data = array([patch for patch in patches(image)])
    codes = km.predict(data.reshape(len(data), -1))
    result = zeros(len(km.cluster_centers_))
    for k, v in Counter(codes).items():
        result[k] = v
    return result
