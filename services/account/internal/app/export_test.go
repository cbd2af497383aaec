package app

import "sync/atomic"

// CountPasswordChecks makes a count every password hash comparison a does.
func CountPasswordChecks(a *App) *atomic.Int64 {
	var n atomic.Int64
	check := a.checkPassword
	a.checkPassword = func(encoded, password string) bool {
		n.Add(1)
		return check(encoded, password)
	}
	return &n
}
