package registrytest

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// semverLess orders versions by their numeric core, a pre-release before
// its release; good enough for the fake's test data.
func semverLess(a, b string) bool {
	ac, ap, _ := strings.Cut(a, "-")
	bc, bp, _ := strings.Cut(b, "-")
	as, bs := strings.Split(ac, "."), strings.Split(bc, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.Atoi(as[i])
		y, _ := strconv.Atoi(bs[i])
		if x != y {
			return x < y
		}
	}
	if ap == "" || bp == "" {
		return ap != "" && bp == ""
	}
	return ap < bp
}
