package report

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestHTMLRendersInChromium screenshots the fixture's page with headless
// Chromium and checks that the bars were drawn: the kernels' bar colours
// cover real areas of the screenshot.
func TestHTMLRendersInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("renders with Chromium: skipped under -short")
	}
	if _, err := os.Stat(Chromium); err != nil {
		t.Skipf("%s: %v", Chromium, err)
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
	start := time.Now()
	if err := Screenshot(ctx, page, shot, dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("chromium took %v", time.Since(start).Round(time.Millisecond))
	colours, bars, err := Pixels(shot, 2)
	if err != nil {
		t.Fatal(err)
	}
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
