"""What the compiled kernels (:mod:`qcikit._scan_kernel`, :mod:`qcikit._dfa_kernel`) share: numba's decorators
and :func:`borrowed`.

Why :func:`borrowed`: numba counts references to every array it holds, with an atomic instruction each time
an array is handed to a helper, sliced or carried round a loop. In the transcript reader that was a dozen
atomic operations per line of transcript, more than half of the reader's time (``perf`` on a million
transcripts: numba's ``NRT_incref``/``NRT_decref`` were the two hottest instructions of the whole command).
A kernel's arrays belong to its caller, who holds them for the whole call: the kernel works on views that
count nothing.

numba's cache keys a kernel on its own file: a change here (to :func:`borrowed`) does not invalidate the kernels'
cached code. After changing this module, delete the ``_scan_kernel*``/``_dfa_kernel*`` ``.nbi``/``.nbc`` files in
``__pycache__``.
"""
import numba
from numba.core import cgutils
from numba.extending import intrinsic

jit = numba.njit(nogil=True, cache=True)
# A helper called once per line or byte: inlined into the kernel, where its arguments cost nothing.
inline = numba.njit(nogil=True, cache=True, inline="always")


@intrinsic
def borrowed(typingctx, arr):
    """``arr`` without its reference count (a null meminfo and parent): the same data, shape and strides. Only
    for arrays the caller keeps alive for as long as the view is used, which a kernel's arguments are."""
    def codegen(context, builder, signature, args):
        held = context.make_array(arr)(context, builder, value=args[0])
        view = context.make_array(arr)(context, builder)
        for field in ("nitems", "itemsize", "data", "shape", "strides"):
            setattr(view, field, getattr(held, field))
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()
    return arr(arr), codegen
