package report

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const chromium = "/usr/bin/chromium"

// TestHTMLRendersInChromium screenshots the fixture's page with headless
// Chromium and checks that the bars were drawn: the kernels' bar colours
// cover real areas of the screenshot.
func TestHTMLRendersInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("renders with Chromium: skipped under -short")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("%s: %v", chromium, err)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := HTML(f, fixture(), HTMLOptions{Title: "kcovlab chromium test"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot,
		"--window-size=1280,2000", "file://"+page)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	killGroupOnCancel(cmd)
	t.Logf("running %q", cmd.Args)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	killGroup(cmd) // helpers (crashpad) must not outlive the test
	t.Logf("chromium took %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	img := decodePNG(t, shot)
	colours, bars := countColours(img)
	t.Logf("%d distinct colours; pixels per kernel colour: %v", colours, bars)
	if colours < 20 {
		t.Errorf("only %d distinct colours: the page looks blank", colours)
	}
	for i, n := range bars {
		if n < 500 {
			t.Errorf("kernel %d's bar colour %s covers %d pixels: the bars did not render", i, palette[i], n)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	return img
}

// countColours returns how many colours img has, and how many pixels have
// each of the first two palette colours (the two fixture kernels' bars).
func countColours(img image.Image) (int, [2]int) {
	var want [2]color.RGBA
	for i := range want {
		var r, g, b uint8
		parseHex(palette[i], &r, &g, &b)
		want[i] = color.RGBA{r, g, b, 0xff}
	}
	seen := map[color.RGBA]bool{}
	var bars [2]int
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			seen[c] = true
			for i := range want {
				if near(c, want[i]) {
					bars[i]++
				}
			}
		}
	}
	return len(seen), bars
}

func parseHex(s string, r, g, b *uint8) {
	var v uint32
	for _, c := range s[1:] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint32(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint32(c-'a') + 10
		}
	}
	*r, *g, *b = uint8(v>>16), uint8(v>>8), uint8(v)
}

// near allows for colour management nudging a channel by a few steps.
func near(a, b color.RGBA) bool {
	d := func(x, y uint8) bool { return x-y < 4 || y-x < 4 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}
