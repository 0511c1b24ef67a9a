"""The yearly round: self-assessment, spot-check, scoring, categories and the round's
outputs (专报, score tables). Pure rules live in their own modules (`spotcheck`,
`categories`, `scoring`); `workflow` stores their results. Knows no web request."""
