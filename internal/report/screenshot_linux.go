package report

import (
	"context"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Chromium is where Debian's chromium package puts the browser.
const Chromium = "/usr/bin/chromium"

// Screenshot renders an HTML file with headless Chromium into a PNG. The
// browser runs in its own process group, killed afterwards, with the
// network-free flags this lab needs and a throwaway profile in workDir.
func Screenshot(ctx context.Context, html, pngPath, workDir string) error {
	abs, err := filepath.Abs(html)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, Chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(workDir, "profile"), "--screenshot="+pngPath,
		"--window-size=1280,2000", "file://"+abs)
	cmd.Env = append(os.Environ(), "HOME="+workDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if cmd.Process != nil {
		// Helpers such as crashpad must not outlive the screenshot.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		return fmt.Errorf("chromium: %w\n%s", err, out)
	}
	return nil
}

// Pixels counts a screenshot's distinct colours and, for each of the first
// n kernel colours of the charts, how many pixels carry it: bars that
// rendered cover real areas.
func Pixels(pngPath string, n int) (colours int, perKernel []int, err error) {
	f, err := os.Open(pngPath)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", pngPath, err)
	}
	want := make([]color.RGBA, n)
	for i := range want {
		want[i] = hexColour(palette[i%len(palette)])
	}
	perKernel = make([]int, n)
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			seen[c] = true
			for i := range want {
				if near(c, want[i]) {
					perKernel[i]++
				}
			}
		}
	}
	return len(seen), perKernel, nil
}

func hexColour(s string) color.RGBA {
	var r, g, b uint8
	fmt.Sscanf(s, "#%02x%02x%02x", &r, &g, &b)
	return color.RGBA{r, g, b, 0xff}
}

// near allows for colour management nudging a channel by a few steps.
func near(a, b color.RGBA) bool {
	d := func(x, y uint8) bool { return x-y < 4 || y-x < 4 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}
