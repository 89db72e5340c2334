package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// The ack point is a 16-byte file: magic "VSPA", the sequence number up to
// which every record is done, and the CRC-32C of the first 12 bytes.
const (
	ackName  = "ack"
	ackTemp  = "ack.tmp"
	ackMagic = "VSPA"
)

func encodeAck(seq uint64) []byte {
	b := make([]byte, 16)
	copy(b, ackMagic)
	binary.BigEndian.PutUint64(b[4:], seq)
	binary.BigEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))
	return b
}

// readAck returns the persisted ack point: 0 when there is none, an error
// when the file is unreadable or damaged.
func readAck(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, ackName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the ack point: %w", err)
	}
	if len(b) != 16 || string(b[:4]) != ackMagic || binary.BigEndian.Uint32(b[12:]) != crc32.Checksum(b[:12], castagnoli) {
		return 0, errors.New("the ack point file is damaged")
	}
	return binary.BigEndian.Uint64(b[4:]), nil
}

// writeAck replaces the ack point atomically (temp file, rename); with
// sync it also fsyncs the file and the directory.
func writeAck(dir string, seq uint64, sync bool) error {
	tmp := filepath.Join(dir, ackTemp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing the ack point: %w", err)
	}
	_, err = f.Write(encodeAck(seq))
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, ackName))
	}
	if err == nil && sync {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("writing the ack point: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
