// Package syncbuf is a bytes buffer that goroutines may write while a test
// reads it: where a test points the logs and output of code that runs in
// the background; it is not a pipe (reads do not consume).
package syncbuf
