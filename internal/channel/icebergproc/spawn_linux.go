package icebergproc

import (
	"os/exec"
	"syscall"
)

// setDeathSignal has the kernel kill the child when kinesisd dies. Linux sends the signal when the
// thread that started the child ends, not only the process: the Go runtime ends threads only in
// rare cases (a goroutine that locked its thread returns), and the child then ends, the next call
// starting another. Its stdin's end is the portable way (see Serve).
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
