// Package words holds the small helpers for wording messages that
// several packages share.
package words

// Plural picks one or many by n.
func Plural[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
