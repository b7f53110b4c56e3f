package series

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseMboxRealSeries(t *testing.T) {
	tests := []struct {
		version  int
		patches  int
		subjects map[int]string
		files    map[int]int // number -> how many files it touches
	}{
		{2, 11, map[int]string{
			1:  "x86: kcov: disable instrumentation of arch/x86/kernel/tsc.c",
			2:  "kcov: apply clang-format to kcov code",
			6:  "kcov: x86: introduce CONFIG_KCOV_UNIQUE",
			11: "kcov: use enum kcov_mode in kcov_mode_enabled()",
		}, map[int]int{1: 1, 6: 9, 10: 3}},
		{3, 10, map[int]string{
			1:  "x86: kcov: disable instrumentation of arch/x86/kernel/tsc.c",
			5:  "kcov: x86: introduce CONFIG_KCOV_UNIQUE",
			7:  "kcov: add ioctl(KCOV_UNIQUE_ENABLE)",
			10: "kcov: use enum kcov_mode in kcov_mode_enabled()",
		}, map[int]int{5: 9, 9: 4}},
		{4, 10, map[int]string{
			4: "mm/kasan: define __asan_before_dynamic_init, __asan_after_dynamic_init",
			5: "kcov: x86: introduce CONFIG_KCOV_UNIQUE",
			8: "kcov: add ioctl(KCOV_RESET_TRACE)",
			9: "kcov: selftests: add kcov_test",
		}, map[int]int{5: 9, 7: 6}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("v%d", tt.version), func(t *testing.T) {
			path := realMbox(t, tt.version)
			s := mustParseMboxFile(t, path)
			if s.Version != tt.version || len(s.Patches) != tt.patches {
				t.Fatalf("got v%d with %d patches, want v%d with %d", s.Version, len(s.Patches), tt.version, tt.patches)
			}
			if s.Cover == nil || s.Cover.Number != 0 || s.Cover.Subject != "Coverage deduplication for KCOV" {
				t.Errorf("cover = %+v, want the 00 message", s.Cover)
			}
			for i, p := range s.Patches {
				checkRealPatch(t, &p, i+1, tt.version, tt.patches)
				if want := fmt.Sprintf("%s#%d", path, i+2); p.Source != want {
					t.Errorf("patch %d: Source = %q, want %q", p.Number, p.Source, want)
				}
				if want, ok := tt.subjects[p.Number]; ok && p.Subject != want {
					t.Errorf("patch %d: Subject = %q, want %q", p.Number, p.Subject, want)
				}
				if want, ok := tt.files[p.Number]; ok && len(p.Files) != want {
					t.Errorf("patch %d: Files = %v, want %d files", p.Number, p.Files, want)
				}
			}
			checkGolden(t, fmt.Sprintf("kcov-dedup-v%d.golden", tt.version), summarize(s))
		})
	}
}

// checkRealPatch checks what every patch of the kcov-dedup series shares.
func checkRealPatch(t *testing.T, p *Patch, number, version, total int) {
	t.Helper()
	if p.Number != number || p.Version != version || p.Total != total {
		t.Errorf("patch %d: got %d v%d total %d", number, p.Number, p.Version, p.Total)
	}
	if want := fmt.Sprintf("PATCH v%d %02d/%d", version, number, total); p.Prefix != want {
		t.Errorf("patch %d: Prefix = %q, want %q", number, p.Prefix, want)
	}
	// Google Groups rewrote From; X-Original-From has the author.
	if p.From != "Alexander Potapenko <glider@google.com>" {
		t.Errorf("patch %d: From = %q", number, p.From)
	}
	if !strings.Contains(p.Message, "Signed-off-by: Alexander Potapenko") {
		t.Errorf("patch %d: Message lacks the sign-off: %q", number, p.Message)
	}
	if !strings.HasPrefix(p.Diff, "diff --git ") {
		t.Errorf("patch %d: Diff starts with %.40q", number, p.Diff)
	}
	for _, junk := range []string{"\n-- \n", "You received this message", "2.50."} {
		if strings.Contains(p.Diff, junk) {
			t.Errorf("patch %d: Diff contains %q (signature or list footer not stripped)", number, junk)
		}
	}
	if len(p.Files) == 0 || len(p.Files) != strings.Count(p.Diff, "diff --git ") {
		t.Errorf("patch %d: Files = %v for %d file diffs", number, p.Files, strings.Count(p.Diff, "diff --git "))
	}
	for _, f := range p.Files {
		if !strings.Contains(p.Diff, "diff --git a/"+f+" b/"+f+"\n") {
			t.Errorf("patch %d: file %s not in its diff", number, f)
		}
	}
}

// summarize renders a series for a golden file.
func summarize(s *Series) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version %d, %d patches, id %s\n", s.Version, len(s.Patches), s.ID())
	if s.Cover != nil {
		fmt.Fprintf(&b, "cover: %s\n", s.Cover.Title())
	}
	for _, p := range s.Patches {
		fmt.Fprintf(&b, "\n%s\n  from: %s\n  date: %s\n", p.Title(), p.From, p.Date)
		fmt.Fprintf(&b, "  message: %d lines, diff: %d lines\n",
			strings.Count(p.Message, "\n")+1, strings.Count(p.Diff, "\n"))
		for _, f := range p.Files {
			fmt.Fprintf(&b, "  file: %s\n", f)
		}
	}
	return b.String()
}

const tinyDiff = `diff --git a/f.txt b/f.txt
--- a/f.txt
+++ b/f.txt
@@ -1 +1 @@
-a=1
+a=2
`

func TestParseMboxEncodings(t *testing.T) {
	qpBody := "Fix a=3D2 so the line is long enough to need a soft =\nbreak.\n---\n" +
		strings.ReplaceAll(strings.ReplaceAll(tinyDiff, "=", "=3D"), "+a=3D2", "+a=3D2 caf=C3=A9") + "-- \n2.39.5\n"
	b64Body := base64.StdEncoding.EncodeToString([]byte("Base64 message.\n---\n" + tinyDiff + "-- \n2.39.5\n"))
	tests := []struct {
		name        string
		mbox        string
		wantSubject string
		wantFrom    string
		wantMessage string
		wantAdded   string // the "+" line of the diff
	}{
		{
			name: "quoted-printable",
			mbox: "From x Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\nSubject: [PATCH] qp\n" +
				"Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n" + qpBody,
			wantSubject: "qp", wantFrom: "A <a@example.org>",
			wantMessage: "Fix a=2 so the line is long enough to need a soft break.",
			wantAdded:   "+a=2 café",
		},
		{
			name: "base64 and RFC 2047 headers",
			mbox: "From x Mon Sep 17 00:00:00 2001\nFrom: =?UTF-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.org>\n" +
				"Subject: =?UTF-8?q?=5BPATCH_v3=5D_caf=C3=A9=3A_fix?=\n" +
				"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + b64Body + "\n",
			wantSubject: "café: fix", wantFrom: "Jürgen Müller <jm@example.org>",
			wantMessage: "Base64 message.", wantAdded: "+a=2",
		},
		{
			name: "mboxrd From quoting and folded subject",
			mbox: "From mboxrd@z Thu Jan  1 00:00:00 1970\nFrom: A <a@example.org>\nSubject: [PATCH] a subject\n that was folded\n\n" +
				">From the start.\n>>From quoted.\nFrom here too.\n---\n" + tinyDiff,
			wantSubject: "a subject that was folded", wantFrom: "A <a@example.org>",
			wantMessage: "From the start.\n>From quoted.\nFrom here too.", wantAdded: "+a=2",
		},
		{
			name: "in-body From and CRLF",
			mbox: strings.ReplaceAll("From x Mon Sep 17 00:00:00 2001\nFrom: Sender <s@example.org>\nSubject: [PATCH] crlf\n\n"+
				"From: Author <au@example.org>\n\nBody.\n---\n"+tinyDiff, "\n", "\r\n"),
			wantSubject: "crlf", wantFrom: "Author <au@example.org>", wantMessage: "Body.", wantAdded: "+a=2",
		},
		{
			name: "multipart with the patch attached",
			mbox: "From x Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\nSubject: [PATCH] attached\n" +
				"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n" +
				"--XX\nContent-Type: text/plain\n\nSee attachment.\n---\n" +
				"--XX\nContent-Type: text/x-patch\nContent-Transfer-Encoding: quoted-printable\n\n" +
				strings.ReplaceAll(tinyDiff, "=", "=3D") + "--XX--\n",
			wantSubject: "attached", wantFrom: "A <a@example.org>", wantMessage: "See attachment.", wantAdded: "+a=2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseMbox("in.mbox", strings.NewReader(tt.mbox))
			if err != nil {
				t.Fatal(err)
			}
			p := s.Patches[0]
			if p.Subject != tt.wantSubject || p.From != tt.wantFrom || p.Message != tt.wantMessage {
				t.Errorf("got subject %q from %q message %q\nwant subject %q from %q message %q",
					p.Subject, p.From, p.Message, tt.wantSubject, tt.wantFrom, tt.wantMessage)
			}
			if !strings.Contains(p.Diff, "\n"+tt.wantAdded+"\n") || !reflect.DeepEqual(p.Files, []string{"f.txt"}) {
				t.Errorf("diff %q, files %v; want a line %q in f.txt", p.Diff, p.Files, tt.wantAdded)
			}
		})
	}
}

func TestParseSubject(t *testing.T) {
	tests := []struct {
		in, title, prefix string
		version, num, tot int
	}{
		{"[PATCH v2 06/11] kcov: x86: introduce CONFIG_KCOV_UNIQUE", "kcov: x86: introduce CONFIG_KCOV_UNIQUE", "PATCH v2 06/11", 2, 6, 11},
		{"[PATCH 1/3] a", "a", "PATCH 1/3", 1, 1, 3},
		{"[PATCH] a", "a", "PATCH", 1, 1, 1},
		{"[RFC PATCH v4 0/2] cover", "cover", "RFC PATCH v4 0/2", 4, 0, 2},
		{"[PATCH net-next V3 2/5] b", "b", "PATCH net-next V3 2/5", 3, 2, 5},
		{"[x86] [PATCH 2/2] c", "c", "PATCH 2/2", 1, 2, 2},
		{"no prefix", "no prefix", "", 1, 1, 1},
	}
	for _, tt := range tests {
		title, prefix, v, n, tot := parseSubject(tt.in)
		if title != tt.title || prefix != tt.prefix || v != tt.version || n != tt.num || tot != tt.tot {
			t.Errorf("parseSubject(%q) = %q, %q, %d, %d, %d; want %q, %q, %d, %d, %d",
				tt.in, title, prefix, v, n, tot, tt.title, tt.prefix, tt.version, tt.num, tt.tot)
		}
	}
}

// mboxMessage is one format-patch style message changing file name.
func mboxMessage(subject, name string) string {
	return fmt.Sprintf("From 0000 Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\nSubject: %s\n\nMessage.\n---\n"+
		"diff --git a/%[2]s b/%[2]s\n--- a/%[2]s\n+++ b/%[2]s\n@@ -1 +1 @@\n-old\n+new\n-- \n2.39.5\n\n", subject, name)
}

func TestParseMboxSeriesErrors(t *testing.T) {
	cover := "From 0000 Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/2] cover\n\nA cover letter.\n\n"
	reply := "From 0000 Mon Sep 17 00:00:00 2001\nSubject: Re: [PATCH 1/2] one\n\n> diff --git a/x b/x\nLooks good.\n\n"
	tests := []struct {
		name    string
		mbox    string
		wantErr error
		wantMsg string // substring of the error
		numbers []int
	}{
		{"ordered with cover and reply", cover + mboxMessage("[PATCH 2/2] two", "b") + reply + mboxMessage("[PATCH 1/2] one", "a"), nil, "", nil},
		{"duplicate", mboxMessage("[PATCH 1/2] one", "a") + mboxMessage("[PATCH 1/2] one again", "a") + mboxMessage("[PATCH 2/2] two", "b"),
			ErrDuplicatePatch, "patch 1 appears twice: [PATCH 1/2] one (in.mbox#1) and [PATCH 1/2] one again (in.mbox#2)", []int{1}},
		{"gaps", mboxMessage("[PATCH 1/5] one", "a") + mboxMessage("[PATCH 3/5] three", "c"),
			ErrMissingPatch, "missing patches 2, 4-5 of 5 (have 1, 3)", []int{2, 4, 5}},
		{"mixed versions", mboxMessage("[PATCH v2 1/2] one", "a") + mboxMessage("[PATCH v3 2/2] two", "b"),
			ErrMixedSeries, "[PATCH v2 1/2] one (in.mbox#1) and [PATCH v3 2/2] two (in.mbox#2)", []int{1, 2}},
		{"mixed totals", mboxMessage("[PATCH 1/2] one", "a") + mboxMessage("[PATCH 2/3] two", "b"),
			ErrMixedSeries, "different series", []int{1, 2}},
		{"number beyond total", mboxMessage("[PATCH 3/2] three", "a"), ErrMixedSeries, "outside 1..2", []int{3}},
		{"only a cover letter", cover, ErrNoPatches, "no message with a diff", nil},
		{"empty input", "", ErrNoPatches, "no message with a diff", nil},
		{"malformed hunk", strings.Replace(mboxMessage("[PATCH 1/1] one", "a"), "+new\n", "", 1),
			ErrMalformed, "parse in.mbox#1: diff line 6: hunk @@ -1 +1 @@ has more lines than its header says", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseMbox("in.mbox", strings.NewReader(tt.mbox))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := numbersOf(s.Patches); !reflect.DeepEqual(got, []int{1, 2}) || s.Cover == nil {
					t.Errorf("numbers %v, cover %v; want [1 2] and a cover", got, s.Cover)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.wantMsg) {
				t.Fatalf("err = %v\nwant %v containing %q", err, tt.wantErr, tt.wantMsg)
			}
			var se *SeriesError
			if tt.numbers != nil && (!errors.As(err, &se) || !reflect.DeepEqual(se.Numbers, tt.numbers)) {
				t.Errorf("err = %#v, want a *SeriesError with numbers %v", err, tt.numbers)
			}
		})
	}
}

func TestSplitMbox(t *testing.T) {
	const sep = "From 8e447b0558da7e07d369ad3a81852fbe66e6fba5 Mon Sep 17 00:00:00 2001\n"
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"lore", "From mboxrd@z Thu Jan  1 00:00:00 1970\nA: 1\n\nx\n\nFrom mboxrd@z Thu Jan  1 00:00:00 1970\nA: 2\n",
			[]string{"A: 1\n\nx\n\n", "A: 2\n"}},
		{"concatenated without blank lines", sep + "A: 1\n\n }\n" + sep + "A: 2\n", []string{"A: 1\n\n }\n", "A: 2\n"}},
		{"From in a body is not a separator", sep + "A: 1\n\nFrom the start.\n\nFrom here on, at 10 past 9.\n",
			[]string{"A: 1\n\nFrom the start.\n\nFrom here on, at 10 past 9.\n"}},
		{"mboxrd unquoting", sep + "A: 1\n\n>From x 10:00 2020\n>>From y\n>Fromage\n",
			[]string{"A: 1\n\nFrom x 10:00 2020\n>From y\n>Fromage\n"}},
		{"CRLF", strings.ReplaceAll(sep+"A: 1\n\nb\n", "\n", "\r\n"), []string{"A: 1\n\nb\n"}},
		{"single message without separator", "From: a@b\nSubject: x\n\nbody\n", []string{"From: a@b\nSubject: x\n\nbody\n"}},
		{"empty", "\n\n", nil},
	}
	for _, tt := range tests {
		got, err := splitMbox(strings.NewReader(tt.in))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: splitMbox = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
