// Command prog is a symbolization fixture: the test builds it and looks up
// its functions by address.
package main

import "fmt"

//go:noinline
func marker() int { return 42 }

func main() { fmt.Println(marker()) }
