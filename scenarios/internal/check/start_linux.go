package check

import "github.com/kcovlab/kcovlab/internal/kcov"

// Start parses the host's -kernel class and checks that KCOV can be opened
// at all, so a program fails with one clear error before measuring.
func Start(kernel string) (Class, error) {
	class, err := ParseClass(kernel)
	if err != nil {
		return "", err
	}
	d, err := kcov.Open("")
	if err != nil {
		return "", err
	}
	d.Close()
	return class, nil
}
