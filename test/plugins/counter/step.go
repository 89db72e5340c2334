package main

import "time"

// timeStep spreads a call's points over distinct nanoseconds so no two
// points of a series share a timestamp (InfluxDB would merge them).
func timeStep(i int) time.Duration { return time.Duration(i) }
