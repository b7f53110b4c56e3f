package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kcovlab/kcovlab/lab"
	"go.yaml.in/yaml/v3"
)

// TestLAVAConsole plays a LAVA worker: it exports a LAVA job for cached
// v2 (its q35 flavour, v2+pc, which TestMachineQ35 builds), boots the exported kernel and initramfs with the device file's
// QEMU options, the job's context and image arguments, and runs the job's
// interactive test on the serial console: wait for the prompt, send each
// command, and match the job's success and failure messages, as
// lava-dispatcher's interactive test does. It never builds a kernel.
func TestLAVAConsole(t *testing.T) {
	needLab(t)
	if ok, err := lab.Built(context.Background(), lab.Options{Kernel: "v2", Machine: "q35"}); err != nil || !ok {
		t.Skipf("v2+pc is not built (%v): the LAVA test only boots a cached kernel", err)
	}
	// A snapshot of the sources: edits to the working tree while the test
	// runs must not change the guest image between its runs.
	mod := snapshotSources(t)
	bin, out := kcovlabBinary(t, mod), t.TempDir()
	cmd := exec.Command(bin, "export", "lava", "--kernel", "v2", "--scenario", "smoke,unique", "--accel", "tcg", "--out", out)
	cmd.Dir = mod
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("export lava: %v\n%s", err, b)
	}
	var job struct {
		Context struct {
			Extra []string `yaml:"extra_options"`
		} `yaml:"context"`
		Actions []struct {
			Deploy *struct {
				Images map[string]struct {
					ImageArg string `yaml:"image_arg"`
					URL      string `yaml:"url"`
				} `yaml:"images"`
			} `yaml:"deploy"`
			Test *struct {
				Interactive []struct {
					Prompts []string `yaml:"prompts"`
					Script  []struct {
						Name, Command string
						Successes     []struct{ Message string }
						Failures      []struct{ Message string }
					} `yaml:"script"`
				} `yaml:"interactive"`
			} `yaml:"test"`
		} `yaml:"actions"`
	}
	var device struct {
		Actions struct {
			Boot struct {
				Methods struct {
					QEMU struct {
						Parameters struct {
							Command string
							Options []string
						}
					} `yaml:"qemu"`
				}
			}
		}
	}
	readYAML(t, filepath.Join(out, "job.yaml"), &job)
	readYAML(t, filepath.Join(out, "device.yaml"), &device)

	// The QEMU command line LAVA's qemu boot builds: the device's command
	// and options, the job's extra options, each image's argument with its
	// downloaded path.
	p := device.Actions.Boot.Methods.QEMU.Parameters
	args := strings.Join(append(p.Options, job.Context.Extra...), " ")
	for name, img := range job.Actions[0].Deploy.Images {
		path := strings.TrimPrefix(img.URL, "file://")
		args += " " + strings.ReplaceAll(img.ImageArg, "{"+name+"}", path)
	}
	argv := append([]string{p.Command}, splitArgs(args)...)
	t.Logf("qemu: %q", argv)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	q := exec.CommandContext(ctx, argv[0], argv[1:]...)
	stdin, _ := q.StdinPipe()
	stdout, _ := q.StdoutPipe()
	q.Stderr = os.Stderr
	if err := q.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { q.Process.Kill(); q.Wait() }()
	con := &console{r: bufio.NewReader(stdout), t: t}

	test := job.Actions[2].Test.Interactive[0]
	prompt := regexp.MustCompile(regexp.QuoteMeta(test.Prompts[0]))
	start := time.Now()
	con.expect(prompt)
	t.Logf("MEASURED boot_to_prompt_s=%.1f", time.Since(start).Seconds())
	results := map[string]string{}
	for _, c := range test.Script {
		fmt.Fprintf(stdin, "%s\n", c.Command)
		var pats []*regexp.Regexp
		for _, m := range c.Successes {
			pats = append(pats, regexp.MustCompile(m.Message))
		}
		nOK := len(pats)
		for _, m := range c.Failures {
			pats = append(pats, regexp.MustCompile(m.Message))
		}
		i := con.expect(pats...)
		results[c.Name] = map[bool]string{true: "pass", false: "fail"}[i < nOK]
		con.expect(prompt)
	}
	if results["smoke"] != "pass" || results["unique"] != "pass" {
		t.Fatalf("LAVA test cases: %v, want smoke and unique pass on v2+pc", results)
	}
	// A command the guest cannot run is a LAVA failure, not a hang or a pass.
	fmt.Fprintf(stdin, "run nosuch\n")
	if i := con.expect(regexp.MustCompile(`KCOVLAB-RESULT nosuch pass`), regexp.MustCompile(`KCOVLAB-RESULT nosuch error`)); i != 1 {
		t.Fatal("run nosuch did not fail")
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// splitArgs splits a command line on spaces, keeping 'quoted' words whole.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, have := false, false
	for _, r := range s {
		switch {
		case r == '\'' || r == '"':
			quoted, have = !quoted, true
		case r == ' ' && !quoted:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// console reads a serial console until one of some patterns shows.
type console struct {
	r   *bufio.Reader
	t   *testing.T
	buf strings.Builder
}

// expect reads until a pattern matches and returns its index; the text
// before the match is consumed.
func (c *console) expect(pats ...*regexp.Regexp) int {
	c.t.Helper()
	for {
		for i, p := range pats {
			if loc := p.FindStringIndex(c.buf.String()); loc != nil {
				rest := c.buf.String()[loc[1]:]
				c.buf.Reset()
				c.buf.WriteString(rest)
				return i
			}
		}
		b, err := c.r.ReadByte()
		if err == io.EOF {
			c.t.Fatalf("console ended waiting for %v; last output:\n%s", pats, tailOf(c.buf.String(), 2000))
		}
		if err != nil {
			c.t.Fatal(err)
		}
		c.buf.WriteByte(b)
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
