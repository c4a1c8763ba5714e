-- The seed tutorial in SQL: proofread cells (status_axon = true) joined with their cell types
-- on pt_root_id, root ids with several nuclei (merged cells) dropped, counted per cell type.
WITH per_root AS (
    SELECT pt_root_id, COUNT(*) AS n
    FROM aibs_metamodel_celltypes_v661
    GROUP BY pt_root_id
),
cells AS (
    SELECT c.pt_root_id, c.cell_type
    FROM aibs_metamodel_celltypes_v661 c
    JOIN per_root r ON c.pt_root_id = r.pt_root_id
    WHERE r.n = 1
)
SELECT cells.cell_type, COUNT(*) AS proofread
FROM proofreading_status_and_strategy p
JOIN cells ON p.pt_root_id = cells.pt_root_id
WHERE p.status_axon = true
GROUP BY cells.cell_type
ORDER BY proofread DESC, cells.cell_type
