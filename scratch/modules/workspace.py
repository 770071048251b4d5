"""Scratch arrays that a layer keeps from one call to the next."""
import numpy as np


class Workspace:
    """Named arrays reused between calls whenever shape and dtype stay the same.

    Fresh large arrays cost page faults on every call (the allocator hands the memory back to the
    system when it is freed); a layer that runs the same shapes batch after batch keeps its
    intermediate arrays here instead. Arrays handed out are overwritten by the next call that
    asks for the same name, so results returned to callers must never live here.
    """

    def __init__(self):
        self._arrays = {}

    def empty(self, name, shape, dtype):
        """An array with undefined contents, the same memory as last time when possible."""
        array = self._arrays.get(name)
        if array is None or array.shape != tuple(shape) or array.dtype != dtype:
            array = np.empty(shape, dtype)
            self._arrays[name] = array
        return array

    def zeros(self, name, shape, dtype):
        """Like ``empty``, filled with zeros."""
        array = self.empty(name, shape, dtype)
        array.fill(0)
        return array
