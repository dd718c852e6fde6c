"""Arrays on disk (``.npy`` files, raw pixel files) read through the regular-file rule of :mod:`tinyemo_audit.input_files`.

``np.load`` and ``np.memmap`` open a path themselves, so a FIFO under an array's name would block
them forever. Here the file is opened once with :func:`~tinyemo_audit.input_files.open_regular`
(never blocks, refuses anything but a regular file) and numpy reads or maps that descriptor.
Pickled object arrays are never loaded.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
>>> np.save(path, np.arange(6, dtype=np.float32).reshape(2, 3))
>>> load_npy(path, what="features", mmap_mode="r").shape
(2, 3)
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..input_files import open_regular, shown_path

MODES = ("r", "c")  # read-only or copy-on-write: a reader never writes through a mapping


def memmap_regular(path: str | os.PathLike, *, what: str, dtype, shape: tuple[int, ...], offset: int = 0,
                   order: str = "C", mode: str = "r") -> np.ndarray:
    """Memory-map ``shape`` items of ``dtype`` at ``offset`` of the regular file ``path``.

    Raises
    ------
    InputError
        ``path`` is not a regular file, or is too short for the array.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    dtype = np.dtype(dtype)
    fd = open_regular(path, what=what)
    with os.fdopen(fd, "rb") as handle:
        needed = offset + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        size = os.fstat(handle.fileno()).st_size
        if size < needed:
            raise InputError(f"{what} {shown_path(path)} holds {size:,} bytes; {needed:,} are needed")
        if needed == offset:  # an empty array: nothing to map (mmap refuses length 0)
            return np.zeros(shape, dtype=dtype)
        # np.memmap maps the open descriptor; the mapping stays valid once the file is closed.
        return np.memmap(handle, dtype=dtype, mode=mode, shape=shape, offset=offset, order=order)


def reserve_blocks(path: str | os.PathLike) -> None:
    """Reserve every block of the file ``path`` on disk, so that writing it through a mapping cannot fail.

    A sparse file written through a mapping onto a full disk kills the process with SIGBUS; with its
    blocks reserved, a full disk is an :class:`OSError` (``ENOSPC``, naming ``path``) here instead.
    A filesystem without ``posix_fallocate`` leaves the file as it is.
    """
    if not hasattr(os, "posix_fallocate"):
        return
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, os.fstat(fd).st_size)
    except OSError as err:
        if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise OSError(err.errno, err.strerror, os.fspath(path)) from None
    finally:
        os.close(fd)


def new_npy(path: str | os.PathLike, *, dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A new ``.npy`` file of ``shape`` mapped for writing, its blocks reserved (:func:`reserve_blocks`).

    On a full disk it raises ``OSError`` (``ENOSPC``) and leaves no file.

    >>> import tempfile, pathlib
    >>> new_npy(pathlib.Path(tempfile.mkdtemp()) / "f.npy", dtype="float32", shape=(3, 2)).shape
    (3, 2)
    """
    from numpy.lib.format import open_memmap

    array = open_memmap(path, mode="w+", dtype=np.dtype(dtype), shape=shape)
    try:
        reserve_blocks(path)
    except OSError:
        del array
        os.unlink(path)
        raise
    return array


def _header(handle, path: Path, what: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    from numpy.lib import format as npy

    try:
        version = npy.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(handle)
        else:
            raise ValueError(f".npy format version {version} is not supported")
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"cannot read {what} {shown_path(path)}: not a .npy array "
                         f"({' '.join(str(err).split())[:200]})") from None
    if dtype.hasobject:
        raise InputError(f"{what} {shown_path(path)} holds Python objects, not numbers; it is not loaded")
    return tuple(shape), fortran, dtype


def load_npy(path: str | os.PathLike, *, what: str, mmap_mode: str | None = None) -> np.ndarray:
    """The array in the ``.npy`` file ``path``: memory-mapped (``mmap_mode`` "r" or "c") or read into memory.

    Raises
    ------
    InputError
        Not a regular file, not a ``.npy`` array, an object array, or shorter than its header says.
    """
    path = Path(path)
    fd = open_regular(path, what=what)
    with os.fdopen(fd, "rb") as handle:
        shape, fortran, dtype = _header(handle, path, what)
        offset = handle.tell()
        if mmap_mode is None:
            count = int(np.prod(shape, dtype=np.int64))
            data = np.fromfile(handle, dtype=dtype, count=count)
            if data.size != count:
                raise InputError(f"{what} {shown_path(path)} is truncated ({data.size} of {count} values)")
            return data.reshape(shape, order="F" if fortran else "C")
    return memmap_regular(path, what=what, dtype=dtype, shape=shape, offset=offset,
                          order="F" if fortran else "C", mode=mmap_mode)


def release_pages(array: np.ndarray) -> None:
    """Drop the resident pages of a read-only memory map (no-op for anything else).

    Pages of a file mapping that were read count in the process's resident set until the kernel
    needs them back; a pass over a store larger than RAM would otherwise grow without bound.
    """
    import mmap

    base = array
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    handle = getattr(base, "_mmap", None)
    if handle is not None and getattr(base, "mode", "r") == "r" and hasattr(mmap, "MADV_DONTNEED"):
        handle.madvise(mmap.MADV_DONTNEED)


def row_blocks(array: np.ndarray, block_rows: int):
    """Yield ``(start, rows)`` over ``array`` in blocks of ``block_rows``; ``rows`` is a float32 copy.

    A memory-mapped ``array`` has its pages released after each block, so the resident memory of a
    pass is one block, whatever the array's size.
    """
    for start in range(0, len(array), block_rows):
        rows = np.array(array[start:start + block_rows], dtype=np.float32)
        release_pages(array)
        yield start, rows


def array_digest(array: np.ndarray) -> str:
    """blake2b (32 hex) of an array's dtype, shape and bytes, read a block of rows at a time.

    Equal to hashing the whole C-contiguous buffer at once; a memory map's pages are released
    between blocks.
    """
    import hashlib

    digest = hashlib.blake2b(f"{array.dtype.str}\0{array.shape}\0".encode(), digest_size=16)
    if array.ndim == 0 or len(array) == 0:
        digest.update(np.ascontiguousarray(array).data)
        return digest.hexdigest()
    row_bytes = max(1, array[0].nbytes)
    block = max(1, (64 * 1024 * 1024) // row_bytes)
    for start in range(0, len(array), block):
        digest.update(np.ascontiguousarray(array[start:start + block]).data)
        release_pages(array)
    return digest.hexdigest()


def distinct_rows(array: np.ndarray) -> int:
    """How many different rows ``array`` has, bit for bit (its length when it is not 2-D).

    Examples
    --------
    >>> distinct_rows(np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 2.0]], dtype=np.float32))
    2
    """
    rows = np.ascontiguousarray(array)
    if rows.ndim != 2 or not len(rows):
        return len(rows)
    return int(len(np.unique(rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))))))
