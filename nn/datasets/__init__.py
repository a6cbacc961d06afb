"""The data files shipped with nn (see README.txt for sources and licences)."""
