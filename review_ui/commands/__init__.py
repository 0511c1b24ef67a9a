"""Click commands, one module per subsystem; `review_ui.cli` gathers them."""
