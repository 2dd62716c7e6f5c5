package prose_test

import (
	"fmt"

	"github.com/bwemu/bwemu/internal/prose"
)

func ExamplePlural() {
	fmt.Println(prose.Plural(1, "webhook", "webhooks"))
	fmt.Println(prose.Plural(0, "webhook", "webhooks"))
	fmt.Println(prose.Plural(3, "match", "matches"))
	// Output:
	// 1 webhook
	// 0 webhooks
	// 3 matches
}

func ExampleIndent() {
	fmt.Println(prose.Indent("first\n\nsecond\n", "  > "))
	// Output:
	//   > first
	//
	//   > second
}
