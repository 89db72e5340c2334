// Package supervisor keeps one plugin process alive for the agent.
//
// A Supervisor launches its plugin through sdk/host (checksum-verified),
// configures it with the instances the agent accepted, and restarts it with
// exponential backoff and full jitter when it crashes, stops answering (a
// call that outlives its timeout is a hang: the process is killed), or
// fails to start. Calls made while the plugin is down fail fast with
// ErrDown instead of waiting, so one bad plugin never delays another.
// Health (up, restarts, errors, call durations) is kept as counters the
// agent turns into internal metrics.
//
// It does not decide what to call or when: that is the scheduler's job.
package supervisor
