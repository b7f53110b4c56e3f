package lab

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/internal/symbolize"
)

// fakeBzImage writes a file with an x86 boot header and a version string.
func fakeBzImage(t *testing.T, dir string) string {
	t.Helper()
	b := make([]byte, 0x400)
	b[0x1fe], b[0x1ff] = 0x55, 0xaa
	copy(b[0x202:], "HdrS")
	b[0x20e] = 0x80 // the version string sits at 0x200+0x80
	copy(b[0x280:], "6.12.117-test (me@host) #1\x00")
	p := filepath.Join(dir, "bzImage")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckLoop: every bad daily-loop input is refused before anything is
// built or booted, naming the flag (the command turns it into exit 2).
func TestCheckLoop(t *testing.T) {
	dir := t.TempDir()
	bz := fakeBzImage(t, dir)
	notBz := filepath.Join(dir, "notes.txt")
	os.WriteFile(notBz, []byte(strings.Repeat("not a kernel\n", 100)), 0o644)
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("MZ"), 0o644)
	prog := filepath.Join(dir, "prog")
	os.WriteFile(prog, []byte("\x7fELF"), 0o755)
	self, _ := os.Executable() // an x86-64 ELF, as a vmlinux stand-in
	tests := []struct {
		name string
		o    Options
		want string // "" = accepted
	}{
		{"nothing", Options{}, ""},
		{"image", Options{KernelImage: bz}, ""},
		{"image and vmlinux", Options{KernelImage: bz, Vmlinux: self}, ""},
		{"missing image", Options{KernelImage: filepath.Join(dir, "nope")}, "--kernel-image"},
		{"text file as image", Options{KernelImage: notBz}, "not a bzImage"},
		{"short file as image", Options{KernelImage: short}, "too short"},
		{"image is a directory", Options{KernelImage: dir}, "--kernel-image"},
		{"vmlinux alone", Options{Vmlinux: self}, "only with --kernel-image"},
		{"vmlinux not ELF", Options{KernelImage: bz, Vmlinux: notBz}, "not an ELF"},
		{"image and --kernel", Options{KernelImage: bz, Kernel: "v2"}, "--kernel"},
		{"image and --series", Options{KernelImage: bz, Series: "v2"}, "--series"},
		{"image and --kernel-src", Options{KernelImage: bz, KernelSrc: dir}, "--kernel-src"},
		{"append", Options{Append: []string{"nokaslr", "loglevel=8"}}, ""},
		{"append with quote", Options{Append: []string{`a="b c"`}}, "--append"},
		{"empty append", Options{Append: []string{""}}, "--append"},
		{"qemu args", Options{QEMUArgs: []string{"-device", "pvpanic"}}, ""},
		{"empty qemu arg", Options{QEMUArgs: []string{""}}, "--qemu-arg"},
		{"put", Options{Puts: []string{prog, prog + ":/usr/bin/x"}}, ""},
		{"put missing file", Options{Puts: []string{filepath.Join(dir, "gone")}}, "--put"},
		{"put a directory", Options{Puts: []string{dir}}, "not a regular file"},
		{"put relative guest path", Options{Puts: []string{prog + ":bin/x"}}, "absolute"},
		{"put guest dir", Options{Puts: []string{prog + ":/bin/"}}, "absolute file path"},
		{"put guest path with space", Options{Puts: []string{prog + ":/bin/a b"}}, "without spaces"},
		{"exec", Options{Execs: []string{"/bin/prog -v"}}, ""},
		{"blank exec", Options{Execs: []string{"  "}}, "--exec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.checkLoop()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestParsePutDefaultsToBin(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "kcov-example")
	os.WriteFile(prog, nil, 0o755)
	host, guest, err := ParsePut(prog)
	if err != nil || host != prog || guest != "/bin/kcov-example" {
		t.Errorf("ParsePut = %q, %q, %v", host, guest, err)
	}
}

func TestBzImageVersion(t *testing.T) {
	raw, _ := os.ReadFile(fakeBzImage(t, t.TempDir()))
	if got := bzImageVersion(raw); got != "6.12.117-test (me@host) #1" {
		t.Errorf("version %q", got)
	}
	if got := bzImageVersion(raw[:0x100]); got != "" {
		t.Errorf("version of a short file %q", got)
	}
}

func TestParsePCs(t *testing.T) {
	tests := []struct {
		name, out string
		want      []uint64
	}{
		{"kcov.rst example", "0xffffffff81234567\n0xffffffff81234570\n", []uint64{0xffffffff81234567, 0xffffffff81234570}},
		{"spaces and CRLF", "  0xFFFFFFFF8100000a \r\n", []uint64{0xffffffff8100000a}},
		{"other lines ignored", "collected 2 PCs\n0xffffffff81000000\npc=0xffffffff81000001\n0x\n0xzz\n", []uint64{0xffffffff81000000}},
		{"too long", "0x1ffffffffffffffff\n", nil},
		{"none", "hello\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParsePCs([]byte(tt.out))
			if len(got) != len(tt.want) {
				t.Fatalf("ParsePCs = %#x, want %#x", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("pc %d = %#x, want %#x", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestRunExec: an --exec step is recorded like a scenario: exit 0 passes,
// any other exit code fails with its stderr; its output is kept and the
// PCs it printed are counted and symbolized.
func TestRunExec(t *testing.T) {
	syms := symbolize.New([]symbolize.Symbol{{Name: "ksys_read", Addr: 0xffffffff81000000, Size: 0x100}})
	pcs := "0xffffffff81000010\n0xffffffff81000020\n0xffffffff81000010\n0xdeadbeef\n"
	tests := []struct {
		name    string
		g       fakeGuest
		verdict string
		metrics map[string]float64
	}{
		{"pass with PCs", fakeGuest{stdout: pcs}, results.Pass,
			map[string]float64{"exit_code": 0, "pcs": 4, "unique_pcs": 3, "pcs_symbolized": 3}},
		{"exit 1 fails", fakeGuest{stderr: "ioctl: Inappropriate ioctl for device\n", code: 1}, results.Fail,
			map[string]float64{"exit_code": 1}},
		{"channel lost", fakeGuest{code: -1, err: context.Canceled}, results.Error, map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			res := runExec(context.Background(), tt.g, "exec", "/bin/kcov-example", time.Minute, dir, syms)
			if res.Verdict != tt.verdict {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Error, tt.verdict)
			}
			for k, v := range tt.metrics {
				if res.Metrics[k] != v {
					t.Errorf("%s = %v, want %v (%v)", k, res.Metrics[k], v, res.Metrics)
				}
			}
			if tt.verdict == results.Fail && !strings.Contains(res.Error, "exited 1: ioctl: Inappropriate") {
				t.Errorf("error %q lacks the exit code and stderr", res.Error)
			}
			if _, err := os.Stat(filepath.Join(dir, "exec.stdout")); err != nil {
				t.Error(err)
			}
			if tt.metrics["pcs"] > 0 {
				text, _ := os.ReadFile(filepath.Join(dir, "exec.pcs"))
				if !strings.Contains(string(text), "0xffffffff81000010 ksys_read+0x10") || !strings.Contains(string(text), "0xdeadbeef \n") {
					t.Errorf("exec.pcs:\n%s", text)
				}
				if !strings.Contains(strings.Join(res.Evidence, "\n"), "pcs in ksys_read: 3") {
					t.Errorf("evidence %q", res.Evidence)
				}
			}
		})
	}
}

func TestConfigCandidates(t *testing.T) {
	got := configCandidates("/src/linux/arch/x86/boot/bzImage", "/src/linux/vmlinux")
	want := []string{"/src/linux/.config", "/src/linux/config", "/src/linux/arch/x86/boot/config", "/src/linux/.config"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("candidates %q, want %q", got, want)
	}
}
