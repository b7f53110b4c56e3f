package main

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// networkUp brings up lo and gives eth0 the address QEMU's user network
// expects. It uses the classic SIOCSIF* ioctls, which need no netlink.
func networkUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := ifUp(fd, "lo"); err != nil {
		return err
	}
	if err := ifAddr(fd, "eth0", unix.SIOCSIFADDR, net.ParseIP(guestAddr)); err != nil {
		return err
	}
	mask := net.IP(net.CIDRMask(guestMask, 32))
	if err := ifAddr(fd, "eth0", unix.SIOCSIFNETMASK, mask); err != nil {
		return err
	}
	return ifUp(fd, "eth0")
}

func ifUp(fd int, name string) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: get flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s: set up: %w", name, err)
	}
	return nil
}

// ifAddr sets an IPv4 address-like field (address or netmask) of name.
func ifAddr(fd int, name string, req uint, ip net.IP) error {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := ifr.SetInet4Addr(ip.To4()); err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, req, ifr); err != nil {
		return fmt.Errorf("%s: ioctl %#x: %w", name, req, err)
	}
	return nil
}
