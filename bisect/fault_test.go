package bisect

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/kcovlab/kcovlab/internal/kbuild"
	"github.com/kcovlab/kcovlab/internal/results"
	"github.com/kcovlab/kcovlab/lab"
)

// A bisect step whose QEMU was killed (at boot or mid-scenario) is retried
// as the lab's failure, never judged; a full disk stops the bisect.
func TestBisectRetriesLabFaults(t *testing.T) {
	bo := &Options{OnCrash: Bad, OnBootError: Skip}
	// What lab.Run returns when QEMU was killed from outside, at boot
	// and mid-scenario (lab's TestQEMUGoneBeforeSSH and
	// TestGuestEndClassified check that it does).
	killed := errors.New("qemu: signal: killed")
	atBoot := &lab.InfraError{Stage: "vm", Err: &lab.GuestLostError{Reason: "QEMU died before the guest answered SSH, with no crash on the console", Err: killed}}
	if c := bo.classify(context.Background(), "abc", nil, atBoot); !c.retry {
		t.Errorf("QEMU killed at boot: %+v, want a retry", c)
	}
	mid := &lab.InfraError{Stage: "vm", Err: &lab.GuestLostError{Reason: "QEMU died", Err: killed}}
	if c := bo.classify(context.Background(), "abc", nil, mid); !c.retry {
		t.Errorf("QEMU killed mid-scenario: %+v, want a retry", c)
	}
	full := &kbuild.DiskFullError{Path: "/c", Err: &kbuild.BuildError{Stage: "make", Err: io.ErrShortWrite}}
	if c := bo.classify(context.Background(), "abc", nil, full); c.retry || c.err == nil || c.Verdict != "" {
		t.Errorf("disk full: %+v, want the bisect stopped", c)
	}
	res := &results.Result{Kernel: results.Kernel{SourceID: "git:abc"}, Scenarios: []results.Scenario{
		{Name: "smoke", Verdict: results.Error, ErrorKind: results.ErrorLab, Error: "not run: the lab lost the guest"}}}
	bo.Scenario = "smoke"
	if c := bo.classify(context.Background(), "abc", res, lab.ErrScenarioFailed); !c.retry {
		t.Errorf("scenario lost by the lab: %+v, want a retry", c)
	}
}
