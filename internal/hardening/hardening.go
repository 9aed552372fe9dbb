// Package hardening makes the server process harder to inspect from
// outside: on Linux it becomes non-dumpable (other processes of the same
// user cannot ptrace it or read /proc/PID/mem and /proc/PID/environ) and
// writes no core file that could hold a credential.
package hardening
