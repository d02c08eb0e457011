package mock

// StateSizes returns how many users the throttle holds events for, how
// many blocks it holds, and how many flows the authenticator holds
// notifications for: tests check that nothing is kept for ever.
func StateSizes(s *Service) (throttleUsers, blocks, appFlows int) {
	throttleUsers, blocks = s.thr.size()
	return throttleUsers, blocks, s.app.size()
}
