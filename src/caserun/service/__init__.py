"""Services: the use cases. Each public function is one transaction."""
