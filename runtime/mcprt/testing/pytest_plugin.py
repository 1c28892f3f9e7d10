"""pytest plugin: runs the recorded cases of a repository's manifests as ordinary tests.

Not yet implemented (see the snapshot-testing issue); registering it is harmless.
"""
