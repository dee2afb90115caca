# 居民档案的导入与导出。

audit-action-residents-imported = 导入居民档案
audit-action-residents-exported = 导出居民名单

resident-export-grid-name = 网格名称
resident-export-gender = 性别
resident-export-birth-date = 出生日期
resident-gender-male = 男
resident-gender-female = 女

error-resident-file-format = 文件格式应为 xlsx 或 csv。
error-resident-import-multipart = 请以 multipart/form-data 表单上传文件，文件字段名为 file。
error-resident-import-file-missing = 表单中没有文件，请在 file 字段中附上 .xlsx 或 .csv 文件。
error-resident-import-mode = mode 应为 dry_run（只检查，默认）或 apply（检查无误后写入）。
error-resident-import-mapping-json = mapping 应为 JSON 对象，键为表头文字，值为字段名，例如 {"{"}"住户": "address"{"}"}。
error-resident-import-mapping-field = 列映射中的字段“{ $field }”不存在，可用字段：{ $known }。
error-resident-import-mapping-header = 列映射中的表头“{ $header }”不在文件的表头行中，请按文件中的表头文字填写。
error-resident-import-column-twice = 字段 { $field } 对应了多列（其中一列为“{ $header }”），请删去多余的列或改用列映射。
error-resident-import-columns-missing = 缺少必填列：{ $missing }。文件的表头为：{ $found }。请按模板修改表头，或用 mapping 指明各列。
error-resident-import-file-empty = 文件“{ $file }”是空的，请选择填好的名册文件。
error-resident-import-file-xls = 文件“{ $file }”是旧版 Excel（.xls）格式，请在 Excel 中另存为 .xlsx 或 CSV 后再上传。
error-resident-import-file-not-xlsx = 文件“{ $file }”不是有效的 .xlsx 工作簿，可能是改了扩展名的其他文件；请在 Excel 中另存为 .xlsx 后再上传。
error-resident-import-file-format = 不支持扩展名为 .{ $extension } 的文件，请上传 .xlsx 或 .csv 文件。
error-resident-import-no-rows = 文件“{ $file }”在表头下没有数据行，请每行填写一位居民。
error-resident-import-too-many-rows = 文件有 { $rows } 行数据，超过每次 { $max } 行的上限，请按社区或网格拆分后分批导入。
error-resident-import-sheet-unknown = 工作簿中没有名为“{ $sheet }”的工作表，现有工作表：{ $sheets }。
error-resident-import-sheet-header-missing = 工作表“{ $sheet }”的前 { $rows } 行中没有表头行（地址、网格、姓名、公民身份号码、与户主关系）。工作簿中的工作表：{ $sheets }；请用 sheet 参数指明数据所在的工作表，或用 mapping 指明各列。
error-resident-import-header-missing = 文件的前 { $rows } 行中没有表头行（地址、网格、姓名、公民身份号码、与户主关系），请按模板填写表头，或用 mapping 指明各列。
error-resident-import-merged-cells = 工作表“{ $sheet }”的 { $cells } 是合并单元格。表头以下不能合并单元格，请取消合并，并在每行填上完整的值。
error-resident-import-csv-encoding = 文件“{ $file }”既不是 UTF-8 也不是 GB18030 编码，请在 Excel 中另存为“CSV UTF-8”后再上传。
error-resident-import-csv-invalid = CSV 文件第 { $line } 行无法解析，请检查该行的引号是否成对。
error-resident-import-value-missing = 请填写 { $column }，这一列必填。
error-resident-import-relation-unknown = 与户主关系“{ $value }”无法识别，请填写户主、配偶、子女、父母、孙子女、兄弟姐妹或其他。
error-resident-import-grid-unknown = 没有编码或名称为“{ $value }”的网格，请填写区域列表中的网格编码，例如 110105001001001。
error-resident-import-grid-ambiguous = 有多个网格名为“{ $value }”，请改填网格编码。
error-resident-import-grid-out-of-scope = 网格“{ $value }”不在您的辖区内，您只能导入本辖区网格的居民；请删去此行，或交由该网格的工作人员导入。
error-resident-import-identity-number-as-number = 身份证号以数字格式保存，Excel 已丢失最后几位。请把该列设为“文本”格式后重新录入，或使用模板。
error-resident-import-tags-invalid = 标签无法识别：{ $reason }
error-resident-import-duplicate-in-file = 该身份证号已出现在第 { $row } 行，同一居民只填一行。
error-resident-import-duplicate-registered = 该身份证号的居民已登记，请删去此行；如需修改信息，请在档案中修改。
error-resident-import-conflict = 导入期间有其他人登记了文件中的居民，未写入任何数据，请重新试运行后再导入。
error-resident-import-rejected = 文件中有 { $problems } 个问题，未写入任何数据，请按报告修改后重新导入。
error-resident-export-area-unknown = 没有编码为“{ $code }”的区域，请填写街道、社区或网格的编码。
error-resident-export-too-many = 符合条件的居民超过 { $max } 人，请按社区或网格分批导出。
error-resident-import-job-failed = 导入因服务器错误失败，未写入任何数据。请重试；如再次失败，请把导入编号 { $id } 告知运维人员。
error-resident-import-job-abandoned = 运行此次导入的服务器在导入结束前停止了，导入没有完成。请先查看居民档案，再重新上传文件。
error-resident-import-job-not-found = 您的账号下没有这个编号的导入；已结束的导入保留 7 天。
