import ArgumentParser
import Datasets
import Logging
import Preprocessing
import Settings
import VectorCache
import Word2Vec

// Options that take one of a fixed set of values are the libraries' own enums: the help lists exactly the values
// the parser accepts, and a bad value is an error that lists them.
extension DatasetName: ExpressibleByArgument {}
extension FormatChoice: ExpressibleByArgument {}
extension RecordPolicy: ExpressibleByArgument {}
extension WindowLabel: ExpressibleByArgument {}
extension OOVKind: ExpressibleByArgument {}
extension CoNLLUReader.POSColumn: ExpressibleByArgument {}
extension DecodingPolicy: ExpressibleByArgument {}
extension MarkupFilter: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
