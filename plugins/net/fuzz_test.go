package main

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzReadUntil feeds untrusted peer data to the tcp check's reader and
// message excerpt.
func FuzzReadUntil(f *testing.F) {
	f.Add([]byte("+OK vigil ready\r\n"), []byte("+OK"))
	f.Add([]byte("220 mail.example.net ESMTP\r\n"), []byte("250"))
	f.Add([]byte("\xff\xfe\x00binary"), []byte("\x00"))
	f.Fuzz(func(t *testing.T, data, want []byte) {
		if len(want) == 0 {
			return
		}
		got, found, _ := readUntil(bytes.NewReader(data), want)
		if found != bytes.Contains(got, want) {
			t.Fatalf("found = %v, but Contains = %v", found, !found)
		}
		if !bytes.HasPrefix(data, got) {
			t.Fatal("read bytes that are not a prefix of the input")
		}
		if e := excerpt(got); !utf8.ValidString(e) {
			t.Fatalf("excerpt %q is not valid UTF-8", e)
		}
	})
}
