package lab

import (
	"context"
	"fmt"
	"sync"

	"github.com/kcovlab/kcovlab/scenarios"
)

// Trial guests booted ahead. A scenario with fresh-boot trials (guardrace:
// each trial needs guards no session has assigned yet) used to boot its
// trials one after another once the shared guest was done: on a 2-core TCG
// host three boots were most of a cached suite's time. A booting guest
// keeps about one host core busy (its other vCPUs wait to be brought up),
// so the trials' guests boot beside the shared guest, then sit idle until
// their turn; each trial still runs alone in a guest nothing else has
// touched. Boot-gate scenarios (the boot is what they judge) are not
// booted ahead.

// preboot is the trial guests of one run's fresh scenarios, booting.
type preboot struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	guests map[string]*bootResult // scenario name + trial number
}

type bootResult struct {
	g   *guest
	err error
}

func trialKey(name string, k int) string { return fmt.Sprintf("%s#%d", name, k) }

// trialConsole names the console log of trial k of scenario name.
func trialConsole(name string, k int) string { return fmt.Sprintf("console-%s-%d.log", name, k) }

// prebootAllowed reports whether this run boots trial guests ahead: not
// when the guest is kept up or under gdb (one guest at a time is what the
// user asked to look at), and not when the options say one boot at a time
// (a pool running several runs at once).
func (r *run) prebootAllowed() bool {
	return !r.opts.Keep && !r.opts.GDB && !r.opts.SerialTrials
}

// startPreboot starts booting the guests of every trial of the fresh
// scenarios that boot a guest per trial. It returns at once; takeTrial
// waits for one, stop reaps the rest.
func (r *run) startPreboot(ctx context.Context, fresh []scenarios.Scenario) *preboot {
	p := &preboot{guests: map[string]*bootResult{}}
	for _, s := range fresh {
		if s.Format == scenarios.FormatBoot {
			continue
		}
		for k := 1; k <= s.FreshBoots; k++ {
			key, console := trialKey(s.Name, k), trialConsole(s.Name, k)
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				g, err := r.startGuest(ctx, console)
				p.mu.Lock()
				p.guests[key] = &bootResult{g: g, err: err}
				p.mu.Unlock()
			}()
		}
	}
	return p
}

// take returns trial k of scenario name's guest (waiting for every boot to
// end: they end together, roughly) and false when it was not booted ahead.
func (p *preboot) take(name string, k int) (g *guest, ahead bool, err error) {
	if p == nil {
		return nil, false, nil
	}
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.guests[trialKey(name, k)]
	if !ok {
		return nil, false, nil
	}
	delete(p.guests, trialKey(name, k))
	return b.g, true, b.err
}

// stop waits for the boots still going and stops every guest no trial
// took, so nothing is left running whatever path the run ends by.
func (p *preboot) stop(ctx context.Context, r *run) {
	if p == nil {
		return
	}
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, b := range p.guests {
		if b.g != nil {
			r.stopGuest(ctx, b.g, false)
		}
		delete(p.guests, key)
	}
}
