package vm

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func baseOptions() Options {
	return Options{
		Kernel:     "/k/bzImage",
		Initrd:     "/k/initramfs.cpio",
		Accel:      AccelTCG,
		SSHPort:    2222,
		QMPSocket:  "/run/qmp.sock",
		ConsoleLog: "/out/console.log",
	}
}

func TestArgvFull(t *testing.T) {
	o := baseOptions()
	o.Append = []string{"nokaslr", "kcovlab.key=abc"}
	o.ExtraArgs = []string{"-S"}
	got, err := o.Argv()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"qemu-system-x86_64",
		"-nodefaults", "-no-reboot", "-display", "none",
		"-machine", "q35",
		"-accel", "tcg", "-cpu", "max",
		"-smp", "1", "-m", "1024M",
		"-kernel", "/k/bzImage",
		"-initrd", "/k/initramfs.cpio",
		"-append", "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 oops=panic no_timer_check nokaslr kcovlab.key=abc",
		"-chardev", "file,id=con,path=/out/console.log",
		"-serial", "chardev:con",
		"-qmp", "unix:/run/qmp.sock,server=on,wait=off",
		"-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22",
		"-device", "virtio-net-pci,netdev=net0",
		"-device", "virtio-rng-pci",
		"-S",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Argv mismatch\n got: %q\nwant: %q", got, want)
	}
}

func TestArgvVariants(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want []string // must appear as a contiguous run
		not  []string // must not appear as a contiguous run
	}{
		{"kvm uses host cpu", func(o *Options) { o.Accel = AccelKVM },
			[]string{"-accel", "kvm", "-cpu", "host"}, []string{"tcg"}},
		{"tcg uses max cpu", func(o *Options) { o.Accel = AccelTCG },
			[]string{"-accel", "tcg", "-cpu", "max"}, []string{"kvm"}},
		{"cpus and memory", func(o *Options) { o.CPUs, o.MemoryMB = 4, 2048 },
			[]string{"-smp", "4", "-m", "2048M"}, nil},
		{"custom binary", func(o *Options) { o.QEMU = "/opt/qemu/bin/qemu-system-x86_64" },
			[]string{"/opt/qemu/bin/qemu-system-x86_64", "-nodefaults"}, nil},
		{"ssh port", func(o *Options) { o.SSHPort = 65535 },
			[]string{"-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:65535-:22"}, nil},
		{"commas in option paths are doubled", func(o *Options) {
			o.ConsoleLog, o.QMPSocket = "/a,b/con.log", "/a,b/q.sock"
		}, []string{"-chardev", "file,id=con,path=/a,,b/con.log", "-serial", "chardev:con",
			"-qmp", "unix:/a,,b/q.sock,server=on,wait=off"}, nil},
		{"no append words", func(o *Options) { o.Append = nil },
			[]string{"-append", "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1 oops=panic no_timer_check"}, nil},
		{"gdb stub on loopback", func(o *Options) { o.GDBPort = 1234; o.ExtraArgs = []string{"-S"} },
			[]string{"-gdb", "tcp:127.0.0.1:1234", "-S"}, nil},
		{"no gdb stub by default", func(o *Options) {},
			[]string{"-device", "virtio-rng-pci"}, []string{"-gdb"}},
		{"user qemu args come last", func(o *Options) { o.ExtraArgs = []string{"-device", "pvpanic", "-S"} },
			[]string{"-device", "pvpanic", "-S"}, nil},
		{"detach changes no argv", func(o *Options) { o.Detach, o.OutputLog = true, "/tmp/q.log" },
			[]string{"-device", "virtio-rng-pci"}, []string{"/tmp/q.log"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := baseOptions()
			tt.edit(&o)
			got, err := o.Argv()
			if err != nil {
				t.Fatal(err)
			}
			if !containsRun(got, tt.want) {
				t.Errorf("argv %q lacks %q", got, tt.want)
			}
			if tt.not != nil && containsRun(got, tt.not) {
				t.Errorf("argv %q has %q", got, tt.not)
			}
		})
	}
}

func TestArgvErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Options)
		field string
	}{
		{"no kernel", func(o *Options) { o.Kernel = "" }, "Kernel"},
		{"no initrd", func(o *Options) { o.Initrd = "" }, "Initrd"},
		{"no accel", func(o *Options) { o.Accel = "" }, "Accel"},
		{"bad accel", func(o *Options) { o.Accel = "hvf" }, "Accel"},
		{"negative cpus", func(o *Options) { o.CPUs = -1 }, "CPUs"},
		{"negative memory", func(o *Options) { o.MemoryMB = -5 }, "MemoryMB"},
		{"port 0", func(o *Options) { o.SSHPort = 0 }, "SSHPort"},
		{"port too big", func(o *Options) { o.SSHPort = 65536 }, "SSHPort"},
		{"negative port", func(o *Options) { o.SSHPort = -22 }, "SSHPort"},
		{"no qmp socket", func(o *Options) { o.QMPSocket = "" }, "QMPSocket"},
		{"qmp socket path too long", func(o *Options) { o.QMPSocket = "/" + strings.Repeat("x", 107) }, "QMPSocket"},
		{"no console log", func(o *Options) { o.ConsoleLog = "" }, "ConsoleLog"},
		{"append word with space", func(o *Options) { o.Append = []string{"a b"} }, "Append"},
		{"empty append word", func(o *Options) { o.Append = []string{""} }, "Append"},
		{"append word with quote", func(o *Options) { o.Append = []string{`x="y`} }, "Append"},
		{"gdb port too big", func(o *Options) { o.GDBPort = 70000 }, "GDBPort"},
		{"gdb port is the ssh port", func(o *Options) { o.GDBPort = o.SSHPort }, "GDBPort"},
		{"detach without output log", func(o *Options) { o.Detach = true }, "OutputLog"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := baseOptions()
			tt.edit(&o)
			argv, err := o.Argv()
			var oe *OptionsError
			if !errors.As(err, &oe) {
				t.Fatalf("Argv() = %q, %v; want *OptionsError", argv, err)
			}
			if oe.Field != tt.field {
				t.Errorf("error field = %q, want %q (%v)", oe.Field, tt.field, err)
			}
			if oe.Problem == "" {
				t.Errorf("error has no problem text")
			}
		})
	}
}

func TestArgvLongestSocketPath(t *testing.T) {
	o := baseOptions()
	o.QMPSocket = "/" + strings.Repeat("x", maxSocketPath-1)
	if _, err := o.Argv(); err != nil {
		t.Fatalf("a %d-byte socket path must be accepted: %v", maxSocketPath, err)
	}
}

// containsRun reports whether sub appears in s as a contiguous run.
func containsRun(s, sub []string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if slices.Equal(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
