package command

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progressBar draws a download's progress on one terminal line.
type progressBar struct {
	w     io.Writer
	drawn bool
	last  int // the last percentage drawn, to redraw only on change
}

// newProgressBar returns a bar on w when w is a terminal, else nil (quiet).
func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &progressBar{w: w, last: -1}
}

func (b *progressBar) update(file string, done, total int64) {
	pct := 0
	if total > 0 {
		pct = int(done * 100 / total)
	}
	if b.drawn && pct == b.last {
		return
	}
	b.last, b.drawn = pct, true
	const width = 30
	fill := width * pct / 100
	fmt.Fprintf(b.w, "\r%s [%s%s] %3d%% %s", file, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), pct, mib(done))
}

// done ends the bar's line; safe on a nil bar.
func (b *progressBar) done() {
	if b == nil || !b.drawn {
		return
	}
	fmt.Fprintln(b.w)
	b.drawn, b.last = false, -1
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
