// Admission: the in-flight cap per devKey and org and the hourly budgets.

package emulator

import "time"

// admit counts the call against the in-flight cap and the hourly budget.
func (e *Emulator) admit(key string, login bool) *apiError {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inFlight[key] >= int64(e.cfg.MaxInFlight) {
		return e.inFlightError()
	}
	now := e.cfg.Now().UTC()
	if h := now.Truncate(time.Hour); !h.Equal(e.hour) {
		e.hour, e.hourReqs, e.hourLogins = h, 0, 0
	}
	if login {
		e.stats.Logins++
		e.hourLogins++
		if e.hourLogins > e.cfg.LoginLimit {
			return e.hourlyError(true)
		}
	} else {
		e.hourReqs++
		if e.hourReqs > e.cfg.HourlyLimit {
			return e.hourlyError(false)
		}
	}
	e.inFlight[key]++
	e.stats.InFlight++
	if e.stats.InFlight > e.stats.MaxInFlight {
		e.stats.MaxInFlight = e.stats.InFlight
	}
	return nil
}

func (e *Emulator) release(key string) {
	e.mu.Lock()
	e.inFlight[key]--
	if e.inFlight[key] <= 0 {
		delete(e.inFlight, key)
	}
	e.stats.InFlight--
	e.mu.Unlock()
}

func (e *Emulator) inFlightError() *apiError {
	return errf(codeInFlight, "Too many requests in flight: at most %d requests may run at once for one developer key and organization. Retry after a request completes.", e.cfg.MaxInFlight)
}

func (e *Emulator) hourlyError(login bool) *apiError {
	if login {
		return errf(codeHourly, "Max number of allowed login requests per hour reached: %d. All subsequent login requests must wait until the beginning of the next hour.", e.cfg.LoginLimit)
	}
	return errf(codeHourly, "Max number of allowed requests per hour reached: %d. All subsequent API requests must wait until the beginning of the next hour.", e.cfg.HourlyLimit)
}
