# Retail in China writes amounts grouped by thousands with a comma (¥1,234.00), as CLDR's zh
# pattern #,##0.00 does; Django's own zh formats group by ten thousand without a separator.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
