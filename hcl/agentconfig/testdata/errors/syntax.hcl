agent {
  node = # ERROR: Invalid expression
}
