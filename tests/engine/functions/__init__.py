"""Tests of engine.functions (a package, so its helper modules import relatively and cannot
collide with another folder's ``strategies`` or ``reference``)."""
