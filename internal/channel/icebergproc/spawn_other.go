//go:build !linux

package icebergproc

import "os/exec"

// setDeathSignal does nothing here: the child ends when its stdin does, as kinesisd dies.
func setDeathSignal(*exec.Cmd) {}
