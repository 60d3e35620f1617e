package crash_test

import (
	"os"
	"testing"

	"kinesisd/internal/kinesistest/proc"
)

// bin is the kinesisd binary the tests run, set by TestMain before any test starts.
var bin string

func TestMain(m *testing.M) { os.Exit(proc.Main(m, &bin)) }
