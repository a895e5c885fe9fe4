//go:build !linux

package main

// releaseStartupPages is a Linux measure (see pages_linux.go).
func releaseStartupPages() {}
