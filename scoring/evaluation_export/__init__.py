"""Raw-data export of evaluations: one CSV row per answer of each submitted evaluation (long format, the shape BI
tools and spreadsheets pivot), scoped as the evaluation pages and the API are, streamed."""
