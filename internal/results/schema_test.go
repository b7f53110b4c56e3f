package results

import (
	"testing"

	"github.com/kcovlab/kcovlab/internal/testutil"
)

// TestSchemaDocumented keeps docs/result-json.md and the Go types in step.
func TestSchemaDocumented(t *testing.T) {
	testutil.CheckSchemaDoc(t, "../../docs/result-json.md", SchemaVersion, Result{})
}
