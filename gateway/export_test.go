package gateway

// SetBulkBatchHook makes every Bulk request call f before each batch of its
// plan, with the number of completions (the PATCH that adds a cycle's
// references) in the batch and a function that ends the request's context
// as its deadline would; nil removes it. Tests only.
func SetBulkBatchHook(f func(completions int, expire func())) {
	if f == nil {
		bulkBatchHook.Store(nil)
		return
	}
	bulkBatchHook.Store(&f)
}
