// Command vigil-plugin-hello is the worked example of a third-party Vigil
// plugin, in its own Go module importing only the Vigil SDK. It started as
// the output of "vigil plugin new hello" and watches files:
//
//   - collector "files": the size and age of every file matching glob
//     patterns (measurement hello_file), and how many each pattern matches
//     (measurement hello_glob);
//   - promise "fresh": CRITICAL when a file matching a pattern is older
//     than max_age, or when none matches; WARNING past warn_age.
//
// It only reads file metadata (stat); it never opens, writes or deletes a
// file.
package main
