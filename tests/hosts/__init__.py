"""Host projects of the tests: settings and URLconfs that include skips among other apps."""
