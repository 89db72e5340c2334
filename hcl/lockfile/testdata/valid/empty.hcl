# This file is maintained by vigil install. Manual edits may be lost.
