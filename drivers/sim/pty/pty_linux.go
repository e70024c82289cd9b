package pty

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// OpenPair opens a new pseudo-terminal in raw mode: no echo, no line
// discipline, no CR/LF translation, so binary frames pass unchanged.
func OpenPair() (*Pair, error) {
	// Non-blocking so that os.File puts the master in the runtime poller:
	// Close then interrupts a blocked Read.
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("pty: open /dev/ptmx: %w", err)
	}
	fail := func(err error) (*Pair, error) {
		unix.Close(mfd)
		return nil, err
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return fail(fmt.Errorf("pty: unlock: %w", err))
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		return fail(fmt.Errorf("pty: number: %w", err))
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	sfd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(fmt.Errorf("pty: open %s: %w", name, err))
	}
	if err := makeRaw(sfd); err != nil {
		unix.Close(sfd)
		return fail(fmt.Errorf("pty: raw mode: %w", err))
	}
	return &Pair{
		Master:    os.NewFile(uintptr(mfd), "/dev/ptmx"),
		SlaveName: name,
		slave:     os.NewFile(uintptr(sfd), name),
	}, nil
}

// makeRaw is cfmakeraw(3) on the terminal's termios. The line discipline
// lives on the slave side, so that is where it is switched off.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}
