-- reserved: recall and tickets (issue 17, agent items 2-3)
SELECT 1;
